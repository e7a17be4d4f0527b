"""The CRM: records, security, audit and the REST API for them. Imports nothing above it."""
