"""sd's intermediate representation: plain data, no pysd and no array library."""

from sd.ir.nodes import (
    BinOp,
    Call,
    Expr,
    If,
    LookupCall,
    ModelIR,
    Num,
    Ref,
    Table,
    Time,
    Unary,
    Variable,
)

__all__ = [
    "BinOp",
    "Call",
    "Expr",
    "If",
    "LookupCall",
    "ModelIR",
    "Num",
    "Ref",
    "Table",
    "Time",
    "Unary",
    "Variable",
]
