"""Blob stores (local directory, S3), media inspection, thumbnails, signed URLs."""
