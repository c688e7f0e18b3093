"""Instructor tools: release the series and autograde a class with nbgrader.

They need the ``instructor`` extra (``pip install medinterp[instructor]``), which installs
nbgrader; students' environments (``make lab``, Binder, conda) never do. The commands are
``make release`` and ``make autograde SUBMISSIONS=DIR``; ``nbgrader_config.py`` at the
repository's root is the configuration both use.
"""
