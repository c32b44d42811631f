"""When the instructor's machine misbehaves: a locked, damaged or full gradebook or disk said in one line, and
the gradebook copies that are the way back."""
