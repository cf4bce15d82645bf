"""What every dialect shares: its error envelope (``errors``) and integer id aliases (``ids``)."""
