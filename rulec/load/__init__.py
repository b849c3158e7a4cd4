"""Load stage: YAML with positions, the policy, the catalogs, names."""
