"""Health checks for a load balancer: /healthz (the process answers) and /readyz (the database answers and its
migrations are current). Neither needs a sign-in, sets a cookie, writes, or says anything about the data."""
