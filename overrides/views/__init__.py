"""Back-office screens: thin views over overrides.services and the scoping selectors."""
