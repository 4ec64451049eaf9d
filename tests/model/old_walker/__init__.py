"""The walker as it was before the walk became named steps over cached plans (model/arch at
commit 85f5c52), kept unchanged as the oracle of ``test_old_walker_oracle.py`` while the new
walker is proved equal to it. Test code only; deleted once the equality holds on a large run.
"""
