"""CSV import of reference data, children, enrolments and attendance.

One module serves the ``tracker import`` command and the upload page: ``importer.run_import``
checks every row first, then writes everything in one transaction or nothing at all.
``formats`` documents the columns of each kind; one module per kind validates and writes.
"""
