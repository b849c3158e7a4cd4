"""The AWS side: the only code that imports boto3 (push, plan, compare with the live service)."""
