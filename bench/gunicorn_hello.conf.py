# gunicorn settings for the baseline app (bench/hello.py): every setting of
# the tool's gunicorn.conf.py (bind, worker class, workers, threads,
# keep-alive, timeouts...) and none of its hooks, so the baseline runs under
# exactly the same server settings without touching Sendwell's database.
import os as _os
import runpy as _runpy
import types as _types

_tool = _runpy.run_path(_os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..",
                                      "gunicorn.conf.py"))
globals().update({
    name: value for name, value in _tool.items()
    if not name.startswith("_") and not callable(value) and not isinstance(value, _types.ModuleType)
})
