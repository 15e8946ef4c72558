"""The status core: parts, sites, accounts, orders, lines, split tree, status vocabulary,
state machine, status events, rollup and change publication. Imports no other app."""
