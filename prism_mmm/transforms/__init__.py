from prism_mmm.transforms.adstock import GeometricAdstock, WeibullAdstock, geometric_weights
from prism_mmm.transforms.base import TRANSFORMS, Param, Prior, Transform, get_transform
from prism_mmm.transforms.saturation import HillSaturation, LogisticSaturation, hill, logistic

__all__ = [
    "TRANSFORMS", "GeometricAdstock", "HillSaturation", "LogisticSaturation", "Param", "Prior",
    "Transform", "WeibullAdstock", "geometric_weights", "get_transform", "hill", "logistic",
]
