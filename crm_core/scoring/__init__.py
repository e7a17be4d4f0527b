"""Lead scoring (docs/lead-scoring.md): the facts known about a lead (facts), the administrator's weighted rules
(rule_language, rule_scoring), the predictive model trained on the organisation's own history (features,
predictive) and the refresh that keeps every open lead's scores current (refresh), run by the workers."""
