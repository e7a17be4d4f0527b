"""What a person does with tracked mail that needs the pipeline: trying a quarantined message again."""
