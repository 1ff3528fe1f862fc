"""User administration and the audit log, for administrators."""
