"""LearnHub's REST API (/api/v1/): thin DRF views over the same domain functions and
role checks (learnhub/roles.py) as the pages."""
