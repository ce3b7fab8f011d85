"""detbench: detection-tracking benchmark harness."""
import os as _os
import sys as _sys
import warnings as _warnings

__version__ = "0.1.0"

# Output that is not the user's business (issue 18):
# - torchvision.ops imports torch._dynamo, which imports triton when it is installed; nothing in
#   detbench compiles kernels, and triton's nanobind extension prints dozens of "nanobind: leaked
#   ..." lines at interpreter exit. A None entry makes `import triton` an ImportError, which torch
#   treats as "triton not installed" (torch.utils._triton.has_triton_package). DETBENCH_ALLOW_TRITON=1
#   turns this off, and so does `--compile` on the command line (torch.compile on CUDA needs triton).
if ("triton" not in _sys.modules and not _os.environ.get("DETBENCH_ALLOW_TRITON")
        and "--compile" not in _sys.argv):
    _sys.modules["triton"] = None
# - YOLOX's head calls the deprecated torch.cuda.amp.autocast: a FutureWarning about its code.
_warnings.filterwarnings("ignore", message=r".*torch\.cuda\.amp\.autocast.*is deprecated", category=FutureWarning,
                         module=r"yolox(\.|$)")
