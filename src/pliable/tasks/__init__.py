"""Built-in example tasks, their data shipped in the package::

    import pliable as pl
    from pliable.tasks import list_tasks, load_task

    task = load_task("tickets")  # list_tasks() names them all
    settings = dict(task.recommended)  # {"optimizer": "bootstrap", "max_...": 4, ...}
    settings.pop("optimizer")
    compiled = pl.BootstrapFewShot(task.metric, **settings).compile(
        task.program_factory(), trainset=task.trainset, valset=task.devset
    )
    print(compiled.report.summary())  # zero-shot baseline vs compiled, with 95% CIs

``pliable compile --task tickets`` does the same from the command line.
"""

from pliable.tasks.catalog import Task, list_tasks, load_task

__all__ = ["Task", "list_tasks", "load_task"]
