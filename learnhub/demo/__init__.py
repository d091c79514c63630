"""The Acme demo: a company with a year of learning, for `make run` and the tests.

It sits above every app (it may import any of them; none imports it): company.py says who
Acme is, seed.py writes it into an empty database (`manage.py seed_demo`), history.py
turns its completion history into Coursera records, and sandbox_data.py chooses what
`manage.py run_sandbox_provider` serves from a provider's sandbox
(programs/providers/*_sandbox.py: Coursera's shape, or the same records in Udemy's,
LinkedIn's or edX's).
"""
