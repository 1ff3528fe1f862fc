"""Partner reports: the retention and attendance report as a page, CSV, XLSX, PDF and API, with small cells suppressed."""
