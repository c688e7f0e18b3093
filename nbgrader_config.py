"""nbgrader's configuration for the series (``make release`` and ``make autograde``).

nbgrader reads this file from the directory it runs in; the instructor tools
(``medinterp.instructor``) always run it from the repository's root and pass the course
directory with ``--CourseDirectory.root``. The assignment is the whole series, one
notebook per concept: ``notebooks/source/NN_*.ipynb``.
"""

from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ComputeChecksums,
    IncludeHeaderFooter,
    InstantiateTests,
    LockCells,
    SaveCells,
)

from medinterp.instructor.placeholders import ClearWidgetState, PlaceholderSolutions

c = get_config()  # noqa: F821 (traitlets defines it when it loads this file)

c.CourseDirectory.course_id = "medinterp"

# nbgrader 0.9's generate_assignment pipeline with two changes: our PlaceholderSolutions in
# place of ClearSolutions (the course's per-line `None` placeholders instead of
# `raise NotImplementedError()`), and ClearWidgetState after ClearOutput (saved widget
# state and run times out of the students' copies). tests/test_instructor.py checks that
# this list is nbgrader's own apart from those two.
c.GenerateAssignment.preprocessors = [
    IncludeHeaderFooter,
    InstantiateTests,
    LockCells,
    PlaceholderSolutions,
    ClearOutput,
    ClearWidgetState,
    CheckCellMetadata,
    ComputeChecksums,
    SaveCells,
    ClearHiddenTests,
    ClearMarkScheme,
    ComputeChecksums,
    CheckCellMetadata,
]

# Autograding: a cell that runs longer than this is interrupted and scores 0 (an infinite
# loop ends here). The slowest cell of the series takes a few seconds on 2 cores.
c.Execute.timeout = 120
# A student who deletes a test cell is graded on it anyway: nbgrader puts it back.
c.OverwriteCells.add_missing_cells = True
