"""Units for people: SST in kelvin is shown in degrees Celsius.

One list of kelvin spellings and one of Celsius spellings, for the figures and the ``sstfill``
command alike. A units string is compared lower-cased, stripped, with spaces as underscores.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KELVIN_UNITS", "CELSIUS_UNITS", "is_kelvin", "shown_in_celsius", "display_units", "to_celsius"]

#: spellings of kelvin in a ``units`` attribute (normalised: lower case, spaces as underscores)
KELVIN_UNITS = frozenset({"k", "kelvin", "kelvins", "degk", "deg_k", "degree_kelvin", "degrees_kelvin"})
#: spellings of degrees Celsius in a ``units`` attribute (normalised as above)
CELSIUS_UNITS = frozenset({"c", "°c", "celsius", "degc", "deg_c", "degree_c", "degrees_c", "degree_celsius", "degrees_celsius"})


def _normalised(units: Any) -> str:
    return str(units or "").strip().lower().replace(" ", "_")


def is_kelvin(units: Any) -> bool:
    """Whether a ``units`` attribute means kelvin.

    Examples
    --------
    >>> is_kelvin("Kelvin"), is_kelvin("degrees kelvin"), is_kelvin("degC"), is_kelvin(None)
    (True, True, False, False)
    """
    return _normalised(units) in KELVIN_UNITS


def shown_in_celsius(units: Any) -> bool:
    """Whether values in these units are shown in degrees Celsius (kelvin or Celsius).

    Examples
    --------
    >>> shown_in_celsius("K"), shown_in_celsius("deg_C"), shown_in_celsius("m")
    (True, True, False)
    """
    name = _normalised(units)
    return name in KELVIN_UNITS or name in CELSIUS_UNITS


def display_units(units: Any) -> str:
    """The units to print: ``'°C'`` for kelvin and Celsius, else the attribute as given ('' if none).

    Examples
    --------
    >>> display_units("kelvin"), display_units(" m s-1 "), display_units(None)
    ('°C', 'm s-1', '')
    """
    return "°C" if shown_in_celsius(units) else str(units or "").strip()


def to_celsius(values: Any, units: Any) -> Any:
    """``values`` in degrees Celsius if ``units`` is kelvin (``values - 273.15``), else unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> to_celsius(np.array([273.15, 300.0]), "kelvin")
    array([ 0.  , 26.85])
    >>> to_celsius(np.array([12.5]), "degC")
    array([12.5])
    """
    return values - 273.15 if is_kelvin(units) else values
