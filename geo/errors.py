"""Domain errors.

Every error the core raises is a :class:`WanggeError`. Most are also a builtin
``ValueError`` or ``LookupError`` so that callers who do not know our types can
still catch them. The API maps each class to an HTTP status and a problem type
in exactly one table (``api/errors.py``); the CLI maps them to exit code 2.

Messages never name a command-line flag or an API field: an error about a
parameter says which in ``context["parameter"]`` (``crs``, ``map``, ``within``,
``grids``, ``source_layer``…), and the CLI and the API each add their own hint.
"""

from __future__ import annotations


class WanggeError(Exception):
    """Base of every domain error.

    Parameters
    ----------
    message
        What went wrong, in words a planner understands (English).
    detail_zh
        The same in Chinese, shown on pages and in problem+json bodies.
    context
        Machine-readable facts (feature ids, file names, candidates...).
    """

    title_en = "Invalid input"
    title_zh = "输入无效"

    def __init__(self, message: str, *, detail_zh: str | None = None, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.detail_zh = detail_zh
        self.context = context

    def __str__(self) -> str:
        return self.message  # a caller may sharpen the message (e.g. name the operation) after raising


class InputError(WanggeError, ValueError):
    """Bad input in general (a file, a parameter, a value)."""


class MissingCrsError(InputError):
    """A layer has no coordinate reference system and none was given."""

    title_en = "Missing coordinate reference system"
    title_zh = "缺少坐标参考系"


class InvalidGeometryError(InputError):
    """A geometry is invalid and could not be repaired."""

    title_en = "Invalid geometry"
    title_zh = "几何图形无效"


class EmptyLayerError(InputError):
    """A layer holds no features (after filtering)."""

    title_en = "Empty layer"
    title_zh = "图层为空"


class InvalidCodeError(InputError):
    """A 12-, 15- or 20-digit code is malformed or inconsistent with its parents."""

    title_en = "Invalid code"
    title_zh = "代码无效"


class UnknownDatumError(InputError):
    """A datum name we do not know."""

    title_en = "Unknown datum"
    title_zh = "未知坐标基准"


class ColumnMappingError(InputError):
    """A ``--map OURS=THEIRS`` names a field that is not in the file, or a required field is missing."""

    title_en = "Column mapping error"
    title_zh = "字段映射错误"


class UnsupportedFormatError(InputError):
    """A file format we cannot read."""

    title_en = "Unsupported file format"
    title_zh = "不支持的文件格式"


class BoundaryNotFoundError(InputError, LookupError):
    """No boundary relation at the requested admin level, or no ``--within`` match."""

    title_en = "Boundary not found"
    title_zh = "未找到行政边界"


class AmbiguousBoundaryError(InputError):
    """A ``--within`` name matches several relations; the message lists them."""

    title_en = "Ambiguous boundary name"
    title_zh = "边界名称不唯一"


class RulesError(InputError):
    """A rules file is unreadable or sets an unknown or invalid value."""

    title_en = "Invalid rules file"
    title_zh = "规则文件无效"


class RoadClassError(RulesError):
    """Road classes in the data that the network rules neither give a speed nor exclude (the message names them)."""

    title_en = "Road class without a speed"
    title_zh = "道路等级缺少速度规则"


class UploadTooLargeError(InputError):
    """An upload exceeds ``WANGGE_MAX_UPLOAD_MB``."""

    title_en = "Upload too large"
    title_zh = "上传文件过大"


class ImportLimitError(UploadTooLargeError):
    """An import holds more features, or expands to more bytes, than the limits in settings allow."""

    title_en = "Import too large"
    title_zh = "导入数据超出限制"


class MalformedFileError(InputError):
    """A file that claims a format it does not hold, or whose rows cannot be parsed (names the row)."""

    title_en = "Malformed file"
    title_zh = "文件格式错误"


class MissingFilePartError(InputError):
    """A multi-file format arrived incomplete (a Shapefile without its ``.dbf`` or ``.shx``)."""

    title_en = "Missing part of a file"
    title_zh = "文件组成部分缺失"


class SourceLayerError(InputError):
    """A multi-layer file where the layer to read cannot be chosen by name; the message lists the layers."""

    title_en = "Choose the source layer"
    title_zh = "请指定源图层"


class CoordinateRangeError(InvalidGeometryError):
    """Coordinates outside the valid range of their CRS (swapped lon/lat, projected metres read as degrees)."""

    title_en = "Coordinates out of range"
    title_zh = "坐标超出有效范围"


class CrossSiteRequestError(WanggeError):
    """A state-changing request sent from another site (until logins exist, only same-origin pages may write)."""

    title_en = "Cross-site request refused"
    title_zh = "拒绝跨站请求"


class TooManyJobsError(WanggeError):
    """The background queue is full (overall or for one area); ``retry_after`` seconds in the context."""

    title_en = "Too many queued jobs"
    title_zh = "排队任务过多"


class EditError(InputError):
    """An edit operation that cannot be applied as written (unknown grid, block or op, bad arguments)."""

    title_en = "Invalid edit"
    title_zh = "编辑无效"


class EditRejectedError(InputError):
    """An edit (or revert) that breaks a hard rule; ``context['verdict']`` lists every problem and suggested fixes."""

    title_en = "Edit rejected"
    title_zh = "编辑未通过校验"


class PlanStateError(InputError):
    """A change of a plan's state its lifecycle does not allow: publishing a draft, adopting over a published plan,
    publishing codes that clash with the official ones (``context['conflicts']`` names them)."""

    title_en = "State change refused"
    title_zh = "方案状态不可变更"


class NoDutyPointsError(InputError):
    """An area without duty points (派出所, 警务室, 巡逻点, 综治中心) cannot be measured for response."""

    title_en = "No duty points"
    title_zh = "没有勤务点"


class DutyPointOffNetworkError(InputError):
    """Duty points farther from the mode's network than the rules' unreachable distance (``context['duty_points']``)."""

    title_en = "Duty point far from any road"
    title_zh = "勤务点远离道路"


class NotFoundError(WanggeError, LookupError):
    """A study area, layer, plan or version that does not exist."""

    title_en = "Not found"
    title_zh = "未找到"


class OutsideCommunitiesError(NotFoundError):
    """A place that lies in no community of the area; ``context['nearest_community']`` names the nearest one."""

    title_en = "Outside every community"
    title_zh = "不在任何社区内"


class ConflictError(WanggeError):
    """The stored state changed under the caller (a stale version, an existing name)."""

    title_en = "Conflict"
    title_zh = "冲突"


class NoStreetsError(InputError):
    """A patrol route asked for where there is no street to walk (a grid with no required street and no stop)."""

    title_en = "No streets to patrol"
    title_zh = "没有需巡查的街道"


class OfficeOffNetworkError(InputError):
    """A route's start (a grid office, a base) is too far from the walking network, or on none of it."""

    title_en = "Start off the network"
    title_zh = "起点不在路网上"


class DisconnectedStreetsError(InputError):
    """No required street can be reached from the route's start on the walking network."""

    title_en = "Streets not connected to the start"
    title_zh = "街道与起点不连通"


class TrackError(MalformedFileError):
    """A GPS track that cannot be used as it is: no points, timestamps out of order (the message names the point)."""

    title_en = "Unusable GPS track"
    title_zh = "GPS 轨迹不可用"


class TrackOutsideAreaError(InputError):
    """A GPS track that lies outside the study area (another city, swapped coordinates)."""

    title_en = "GPS track outside the area"
    title_zh = "GPS 轨迹不在研究区内"


class QuotaRuleError(RulesError):
    """A camera quota rule that names a village the area does not have, or one that names two (say which)."""

    title_en = "Camera quota rule names no village"
    title_zh = "监控配额规则所指村不存在"
