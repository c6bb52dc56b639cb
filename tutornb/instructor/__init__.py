"""The instructor's tools: the course checker (``check``), the draft-metadata writer (``init``), the
notebook finder they share (``notebooks``) and the progress / class reports (``reports``)."""
