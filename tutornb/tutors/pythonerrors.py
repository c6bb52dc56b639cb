"""Python's built-in exceptions in plain words: what each means, the usual fix, and the words that
find the course section teaching the concept behind it. These are facts about Python, not about a
course (:mod:`tutornb.tutors.errorhelp` pairs them with the learner's own line)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Explanation:
    meaning: str
    fix: str
    #: Words that find the course section teaching the concept behind the error.
    topic: str


EXPLANATIONS: dict[str, Explanation] = {
    "IndexError": Explanation(
        "Python was asked for a position that the sequence does not have. Indexes start at 0, so "
        "a list of n items has indexes 0 to n - 1.",
        "Check the length with `len()` before indexing, use `-1` for the last item, or loop over "
        "the items directly instead of counting positions by hand.",
        "index list out of range indexing",
    ),
    "KeyError": Explanation(
        "The dictionary has no entry for that key. Looking up a missing key with square brackets "
        "raises KeyError; keys are also case sensitive.",
        "Check with `key in dictionary` first, or use `dictionary.get(key, default)`, which "
        "returns the default instead of raising.",
        "keyerror missing key dictionary get",
    ),
    "NameError": Explanation(
        "Python knows no variable or function with that name at this point: usually a typo, or a "
        "cell that defines it has not been run yet.",
        "Check the spelling against where the name is assigned, and run the cell that defines it "
        "first (or Restart and Run All to run everything in order).",
        "nameerror variable name not defined",
    ),
    "TypeError": Explanation(
        "An operation or function received a value of a type it cannot work with, or a function "
        "was called with the wrong number of arguments.",
        "Look at the types of the values on that line (`type(value)` tells you), convert them "
        "with `int()`, `str()` or `float()` if needed, and compare the call with the function's "
        "parameters.",
        "typeerror type argument str int",
    ),
    "ValueError": Explanation(
        "The value has the right type but an unsuitable content, for example "
        '`int("abc")`: text that is not '
        "a number.",
        "Print the value just before that line to see what it really contains, and check it "
        "before converting.",
        "type convert int str value",
    ),
    "AttributeError": Explanation(
        "The value has no method or attribute with that name: either a typo, or the value is not "
        "the type you expected (often `None`, returned by a function or method that changes "
        "things in place).",
        "Check the value's type with `type()`, and the spelling of the method. Remember that "
        "methods like `list.sort()` return `None`.",
        "method return none sort append",
    ),
    "ZeroDivisionError": Explanation(
        "A number was divided by zero, which has no result.",
        "Check the divisor before dividing, for example that a list is not empty before computing "
        "an average with `len()`.",
        "average len divide total",
    ),
    "UnboundLocalError": Explanation(
        "A variable is assigned somewhere inside the function, which makes it local for the whole "
        "function, but it was read before that assignment.",
        "Pass the value in as an argument and return the result, instead of changing a global "
        "variable from inside the function.",
        "scope local global variable function unboundlocalerror",
    ),
    "SyntaxError": Explanation(
        "Python could not read the code: something is missing or misplaced, such as a colon, a "
        "closing bracket or quote.",
        "Look at the line shown (and the one before it) for a missing `:`, `)`, `]` or quote.",
        "def colon function syntax",
    ),
    "IndentationError": Explanation(
        "The indentation does not match what Python expects: a block after a line ending with `:` "
        "must be indented, and lines of one block must line up.",
        "Indent the body of `for`, `if` and `def` blocks consistently (4 spaces is the convention).",
        "indented block loop def",
    ),
    "RecursionError": Explanation(
        "A function kept calling itself (directly or indirectly) without ever stopping.",
        "Make sure the function has a case that returns without calling itself again.",
        "function call return",
    ),
    "ModuleNotFoundError": Explanation(
        "Python could not find a module with that name to import: a typo, or the package is not "
        "installed in this kernel's environment.",
        "Check the spelling; install the package into the kernel's environment if it is a third-party one.",
        "import module",
    ),
    "ImportError": Explanation(
        "The import failed: the module exists but does not provide that name, or it failed while loading.",
        "Check the spelling of the imported name and the module's documentation.",
        "import module",
    ),
    "FileNotFoundError": Explanation(
        "No file exists at that path, relative to the notebook's working folder.",
        "Check the file name and the folder the notebook runs in.",
        "file open path",
    ),
    "StopIteration": Explanation(
        "`next()` was called on an iterator that has no items left.",
        "Loop over the iterator with `for`, which stops by itself, or give `next()` a default.",
        "loop for items",
    ),
    "AssertionError": Explanation(
        "An `assert` statement found its condition false: the code expected something that was not true.",
        "Print the values the assertion checks to see which one differs from what you expected.",
        "check condition",
    ),
    "OverflowError": Explanation(
        "A number became too large to represent (this happens with floats, not with Python's integers).",
        "Use integers where you can, or check the computation for a value that grows without bound.",
        "number float int",
    ),
}

_GENERIC = Explanation(
    "Python stopped because of this exception. The last line of a traceback names the exception "
    "type and says what went wrong; the lines above it show where.",
    "Read the line marked with the arrow, print the values it uses just before it, and compare "
    "them with what you expected.",
    "error traceback message",
)


def explanation_for(exc_type: str) -> Explanation:
    return EXPLANATIONS.get(exc_type, _GENERIC)
