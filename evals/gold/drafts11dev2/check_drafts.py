"""The checker the session-18 helper ran (as check_drafts_dev2.py, beside the dumps): drafts11/check_drafts.py's
checks (it reads the dumps from ../drafts11/records/), its default folder drafts-dev2/ (the output is
../drafts11dev2.jsonl).

python3 check_drafts.py   # all files in drafts-dev2/
"""

import importlib.util
from pathlib import Path

HERE = Path(__file__).parent
# beside the dumps it was a copy of that file; loaded by path, since it has this file's name
_spec = importlib.util.spec_from_file_location("drafts11_check", HERE.parent / "drafts11" / "check_drafts.py")
_drafts11 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_drafts11)

if __name__ == "__main__":
    _drafts11.main(_drafts11.check, HERE / "drafts-dev2")
