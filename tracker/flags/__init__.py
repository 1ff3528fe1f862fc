"""Follow-up flags: the rules that raise them, their operations and the follow-up pages."""
