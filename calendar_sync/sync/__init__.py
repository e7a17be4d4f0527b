"""The two-way sync engine shared by every calendar connector (vdirsyncer's design): the stored status and the
two sides' listings go in, a plan of actions comes out (plan.py, pure), and each action runs and records its
new status (actions.py), committed one at a time so that a sync killed at any instant resumes where it was."""
