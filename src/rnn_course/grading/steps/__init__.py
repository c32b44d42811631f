"""nbgrader preprocessors, one per file: the autograde and feedback steps the course config names."""
