"""scene-images client: the SQL API (store_scene_image and friends) from Python.

`SceneImageStore` talks to PostgreSQL with psycopg; `SupabaseSceneImageStore` reaches the same
functions through Supabase RPC. Both return the dataclasses of `models` and raise the
exceptions of `errors`.
"""

from .errors import (
    ERRORS,
    ConstraintViolation,
    HostNotAllowed,
    ImageTooLarge,
    IngestCancelled,
    InvalidArgument,
    InvalidSourceUrl,
    JobLeaseExpired,
    JobNotFound,
    JobNotRetryable,
    LimitExceeded,
    NullArgument,
    PermissionDenied,
    PrivateAddressRefused,
    ProjectNotFound,
    SceneImageError,
    SourceHttpError,
    SourceIncomplete,
    SourceNotAnImage,
    SourceTimeout,
    SourceTooLarge,
    SourceUnreachable,
    StorageFailed,
    StorageMisconfigured,
    TooManyRedirects,
    VersionNotFound,
    from_psycopg,
    translating_errors,
)
from .generation import (
    Generator,
    GeneratorUnavailable,
    fal_generator,
    generate_and_store,
)
from .models import Project, SceneImage, SceneImageJob, SceneImageRequest, StoreOutcome
from .store import SceneImageStore
from .supabase_transport import SupabaseSceneImageStore

__all__ = [
    "ERRORS",
    "ConstraintViolation",
    "Generator",
    "GeneratorUnavailable",
    "HostNotAllowed",
    "ImageTooLarge",
    "IngestCancelled",
    "InvalidArgument",
    "InvalidSourceUrl",
    "JobLeaseExpired",
    "JobNotFound",
    "JobNotRetryable",
    "LimitExceeded",
    "NullArgument",
    "PermissionDenied",
    "PrivateAddressRefused",
    "Project",
    "ProjectNotFound",
    "SceneImage",
    "SceneImageError",
    "SceneImageJob",
    "SceneImageRequest",
    "SceneImageStore",
    "SourceHttpError",
    "SourceIncomplete",
    "SourceNotAnImage",
    "SourceTimeout",
    "SourceTooLarge",
    "SourceUnreachable",
    "StorageFailed",
    "StorageMisconfigured",
    "StoreOutcome",
    "SupabaseSceneImageStore",
    "TooManyRedirects",
    "VersionNotFound",
    "fal_generator",
    "from_psycopg",
    "generate_and_store",
    "translating_errors",
]
