"""Import and export of records as CSV and Excel files, as Dynamics' Import Data Wizard and Export to Excel do:
formats (reading and writing tables), mapping (columns to fields, cells to values), importer (rows to records
through the record services, dry run, duplicates) and exporter (the caller's list, streamed)."""
