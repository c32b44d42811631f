"""The road between an LMS (Moodle, Canvas) and the grader: roster in, submissions in, deadlines, grades out.

roster.py reads participant exports into the gradebook; collect.py maps an LMS zip or a folder onto
submitted/; deadlines.py keeps due dates, extensions and the late penalty; exports.py writes grades.csv and
the files each LMS imports. extras.py keeps what the gradebook has no column for, in the course's lms.json.
"""
