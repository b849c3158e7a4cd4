"""Compile stage: resolve names, assign SIDs, build the rule-group IR."""
