"""The dashboard: a FastAPI application over the experimenter's database and artifact store.

People review what the experimenter did and why (experiments, the skill library, the
curriculum, every planner decision) and steer it (approve or reject proposals, set a goal,
pause, resume, stop) through the commands table, which the daemon consumes. Started with
``experimenter serve``; ``web.app.create_app(settings)`` builds the application.

Light on purpose: neither torch, mujoco nor the experimenter's graph is imported, and not
the arena either (the task language comes from ``tasks``, so neither NumPy nor Gymnasium is
loaded), so the dashboard starts in about a second.
"""
