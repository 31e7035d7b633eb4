"""Guard: the callback that watches the user's own `model.fit` (`from nanfix.keras import
NanGuard`): it stops at the first non-finite loss or weight and says where and why.
"""
