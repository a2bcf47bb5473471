from prism_mmm.priors import Prior
from prism_mmm.transforms.adstock import Adstock, GeometricAdstock, lag_stack
from prism_mmm.transforms.base import TRANSFORMS, Param, Transform, get_transform
from prism_mmm.transforms.media import MediaTransform
from prism_mmm.transforms.saturation import (
    LOG_EPS,
    HillSaturation,
    LogisticSaturation,
    Saturation,
    hill,
    logistic,
)

__all__ = [
    "LOG_EPS",
    "TRANSFORMS",
    "Adstock",
    "GeometricAdstock",
    "HillSaturation",
    "LogisticSaturation",
    "MediaTransform",
    "Param",
    "Prior",
    "Saturation",
    "Transform",
    "get_transform",
    "hill",
    "lag_stack",
    "logistic",
]
