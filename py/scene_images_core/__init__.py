"""scene-images core: fetch an AI generator's image URL safely, verify the image, store it.

Plain Python (stdlib, requests; boto3 only for the s3 backend), imported by the PL/Python
functions inside PostgreSQL and by the external queue worker. Modules:
errors, policy, fetch, sniff, paths, backends, pipeline.
"""
