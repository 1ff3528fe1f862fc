"""Assessment forms from plugins: rounds, drafts, submission, corrections, results per child and class."""
