"""Who may read what: the roles, the need-to-know table, area scoping and the reader's identity.

Picture, alerts and reporting all import the policy from here, so that no slice imports another
for its access rules. `policy` and `areas` are pure; `tokens` verifies OpenID Connect access
tokens (the only I/O: fetching the issuer's keys).
"""
