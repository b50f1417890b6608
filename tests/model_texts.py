"""Model texts shared by the tests (one place, so test modules never import each other).

``*_BODY`` texts are equations only (the ``write_mdl`` fixture appends the control block); ``SIR`` and
``TEACUP`` are whole .mdl files.
"""

from __future__ import annotations

from pathlib import Path

TEACUP_BODY = """
Teacup Temperature = INTEG(-Heat Loss, 180)
\t~\tdegF [32, 212]
\t~\tThe tea.
\t|

Heat Loss = (Teacup Temperature - Room Temperature) / Characteristic Time
\t~\tdegF/minute
\t~\t|

Room Temperature = 70
\t~\tdegF [50, 90]
\t~\t|

Characteristic Time = 10
\t~\tminute [5, 15, 0.5]
\t~\tHow long the tea takes to cool.
\t|
"""

LOOKUP_BODY = """
effect = tab(Time)
\t~\t
\t~\t|

tab(
\t[(0,0)-(10,10)],(0,0),(5,10),(10,0))
\t~\t
\t~\t|
"""

STATEFUL_BODY = """
input = 5 + STEP(10, 2) + RAMP(2, 3, 6) - PULSE TRAIN(1, 0.5, 2, 8) * k
\t~\t
\t~\t|

k = 3
\t~\t [1, 5]
\t~\t|

delay time = 2.5
\t~\t [1, 4]
\t~\t|

smooth1 = SMOOTH(input, delay time)
\t~\t
\t~\t|

smooth3i = SMOOTH3I(input, delay time, 2)
\t~\t
\t~\t|

smoothn = SMOOTH N(input, delay time, 1, 4)
\t~\t
\t~\t|

delay1i = DELAY1I(input, delay time, 3)
\t~\t
\t~\t|

delay3 = DELAY3(input, delay time)
\t~\t
\t~\t|

delayn = DELAY N(input, delay time + 0.5 * STEP(1, 4), 2, 3)
\t~\t
\t~\t|

trend of input = TREND(input, delay time, 0.1)
\t~\t
\t~\t|

forecast of input = FORECAST(input, delay time, 3)
\t~\t
\t~\t|

held = INITIAL(input * k)
\t~\t
\t~\t|

active = ACTIVE INITIAL(stock * 2, k + 1)
\t~\t
\t~\t|

stock = INTEG(active / 10 - stock * 0.1, k)
\t~\t
\t~\t|

math = QUANTUM(input, 0.7) + MODULO(-input, 3) + INTEGER(-input / 4) + XIDZ(input, k - 3, 7) + ZIDZ(1, input - 5) + LOG(input, 2) + SQRT(input) + POWER(input, 0.5) + ABS(-input) + MIN(input, 9) + MAX(input, 9) + SIN(input) + ARCTAN(input) + TANH(input / 10)
\t~\t
\t~\t|

logic = IF THEN ELSE(input > 8 :AND: :NOT: (k = 2) :OR: Time < 1, 1, 0)
\t~\t
\t~\t|

inline = WITH LOOKUP(input, ([(0,0)-(30,1)],(0,0),(10,0.5),(30,1)))
\t~\t
\t~\t|
"""

SIR = """{UTF-8}
Contact Infectivity = 0.3
\t~\tPersons/Persons/Day [0,1]
\t~\tContacts times the chance of passing the disease.
\t|
Duration = 5
\t~\tDays [1,20]
\t~\tHow long one is infectious.
\t|
Infectious = INTEG(Succumbing - Recovering, 5)
\t~\tPersons
\t~\t|
Recovered = INTEG(Recovering, 0)
\t~\tPersons
\t~\t|
Recovering = Infectious / Duration
\t~\tPersons/Day
\t~\t|
Succumbing = Susceptible * Infectious / Total Population * Contact Infectivity
\t~\tPersons/Day
\t~\t|
Susceptible = INTEG(-Succumbing, Total Population)
\t~\tPersons
\t~\t|
Total Population = 1000
\t~\tPersons
\t~\t|
FINAL TIME = 100
\t~\tDay
\t~\t|
INITIAL TIME = 0
\t~\tDay
\t~\t|
SAVEPER = TIME STEP
\t~\tDay [0,?]
\t~\t|
TIME STEP = 0.0625
\t~\tDay [0,?]
\t~\t|

\\\\\\---/// Sketch information - do not modify anything except names
V300  Do not put anything below this section - it will be ignored
*View 1
///---\\\\\\
:L<%^E!@
22:Person,People,Persons
22:Day,Days
"""

TEACUP = """{UTF-8}
Characteristic Time = 10
\t~\tMinutes [0,?]
\t~\tHow long will it take the teacup to cool 1/e of the way to equilibrium?
\t|
Heat Loss to Room = (Teacup Temperature - Room Temperature) / Characteristic Time
\t~\t%s
\t~\tThis is the rate at which heat flows from the cup into the room.
\t|
Room Temperature = 70
\t~\tDegrees Fahrenheit [-459.67,?]
\t~\t|
Teacup Temperature = INTEG(-Heat Loss to Room, 180)
\t~\tDegrees Fahrenheit [32,212]
\t~\t|
FINAL TIME = 30
\t~\tMinute
\t~\t|
INITIAL TIME = 0
\t~\tMinute
\t~\t|
SAVEPER = TIME STEP
\t~\tMinute [0,?]
\t~\t|
TIME STEP = 0.125
\t~\tMinute [0,?]
\t~\t|
"""


def write_sir(folder: Path) -> Path:
    p = folder / "sir.mdl"
    p.write_text(SIR, encoding="utf-8")
    return p


# a whole teacup .mdl with ranges for sweeps: .format(final=FINAL TIME, dt=TIME STEP)
TEACUP_TEMPLATE = """{{UTF-8}}
Characteristic Time = 10
\t~\tMinutes [5,15]
\t~\t|

Room Temperature = 70
\t~\tDegrees Fahrenheit [60,80]
\t~\t|

Heat Loss to Room = (Teacup Temperature - Room Temperature) / Characteristic Time
\t~\tDegrees Fahrenheit/Minute
\t~\t|

Teacup Temperature = INTEG(-Heat Loss to Room, 180)
\t~\tDegrees Fahrenheit
\t~\t|

INITIAL TIME = 0
\t~\tMinute
\t~\t|

FINAL TIME = {final}
\t~\tMinute
\t~\t|

TIME STEP = {dt}
\t~\tMinute
\t~\t|

SAVEPER = TIME STEP
\t~\tMinute
\t~\t|
"""
