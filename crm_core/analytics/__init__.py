"""Analytics (issue 11): RFM segments, profitability per customer and the dashboards' figures.

Every figure is computed by the database (GROUP BY) within the caller's read scope (crm_core.security.access);
Python only names, scores and shapes the aggregated rows."""
