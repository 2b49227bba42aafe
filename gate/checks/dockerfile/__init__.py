"""The built-in Dockerfile rules: the rule table, the checks, their shell parsing and the generated docs."""
