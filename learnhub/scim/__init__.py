"""SCIM 2.0 provisioning (RFC 7643 / 7644) at /scim/v2/: identity providers push the roster.

This layer only parses and serialises (with scim2-models); every write is a roster write
(programs.roster), so SCIM, the CSV import and the API bulk push share one set of rules."""
