"""The award screens: the analysis of candidatures and offers (evaluation, candidatures,
grid), the report, the decisions and the public essential data."""
