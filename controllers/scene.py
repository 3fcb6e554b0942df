"""MJCF for the block arena, generated from a `SceneConfig`.

The robot is a Cartesian (gantry) arm: three prismatic joints carry a hand that points
down, with a parallel-jaw gripper of two prismatic fingers. The arm follows Cartesian
velocity commands through velocity actuators on its joints, so the end-effector controller
is exact and costs nothing per step; the fingers are position servos with a bounded force,
so a grasp is held by friction alone (no welds, no teleporting). Keeping robot, objects and
table in separate functions lets an articulated arm replace the gantry later without
touching the rest.
"""

from __future__ import annotations

from controllers.layout import SceneConfig

TIMESTEP = 0.002
"""Physics step (s)."""

FINGER_TRAVEL = 0.05
"""Each finger moves 0..FINGER_TRAVEL inwards; the opening is 2*FINGER_TRAVEL - q_l - q_r."""

MAX_OPENING = 2 * FINGER_TRAVEL
PAD_HALF = (0.006, 0.012, 0.025)
"""Half extents of a finger pad (m): thickness (x), width (y), height (z)."""

HAND_HOME = (0.0, 0.0, 0.22)
"""Pinch-point position at reset (m)."""

WORKSPACE_LOW = (-0.3, -0.3, 0.015)
WORKSPACE_HIGH = (0.3, 0.3, 0.35)
"""Reachable box of the pinch point (m); the arm's joint ranges."""

# Finger pads grip by friction; torsional friction (condim 4) stops a held cube spinning.
PAD_FRICTION = "1.5 0.02 0.0001"
BLOCK_FRICTION = "1.0 0.01 0.0001"


def _table(scene: SceneConfig) -> str:
    h = scene.table_half
    top = scene.table_z
    return f"""
    <geom name="table" type="box" size="{h} {h} 0.02" pos="0 0 {top - 0.02}"
          material="table" friction="0.8 0.01 0.0001"/>
    <geom name="floor" type="plane" size="2 2 0.1" pos="0 0 {top - 0.75}" material="floor"/>"""


def _robot() -> str:
    x0, y0, z0 = HAND_HOME
    lo, hi = WORKSPACE_LOW, WORKSPACE_HIGH
    px, py, pz = PAD_HALF
    # The pinch point sits at the hand origin; fingers hang below the palm.
    return f"""
    <body name="gantry_x" pos="0 0 0">
      <joint name="arm_x" type="slide" axis="1 0 0" range="{lo[0] - x0} {hi[0] - x0}"
             damping="5"/>
      <inertial pos="0 0 {z0 + 0.3}" mass="2" diaginertia="0.01 0.01 0.01"/>
      <body name="gantry_y" pos="0 0 0">
        <joint name="arm_y" type="slide" axis="0 1 0" range="{lo[1] - y0} {hi[1] - y0}"
               damping="5"/>
        <inertial pos="0 0 {z0 + 0.3}" mass="1" diaginertia="0.01 0.01 0.01"/>
        <body name="hand" pos="{x0} {y0} {z0}" gravcomp="1">
          <joint name="arm_z" type="slide" axis="0 0 1" range="{lo[2] - z0} {hi[2] - z0}"
                 damping="5"/>
          <inertial pos="0 0 0.06" mass="0.5" diaginertia="0.002 0.002 0.002"/>
          <geom name="column" type="cylinder" size="0.012 0.16" pos="0 0 0.22"
                material="metal" contype="0" conaffinity="0"/>
          <geom name="palm" type="box" size="{FINGER_TRAVEL + px} 0.02 0.01"
                pos="0 0 {pz + 0.012}" material="metal"/>
          <site name="pinch" pos="0 0 0" size="0.006" rgba="1 1 0 0.6"/>
          <body name="finger_left" pos="{-FINGER_TRAVEL - px} 0 0" gravcomp="1">
            <joint name="finger_left" type="slide" axis="1 0 0" range="0 {FINGER_TRAVEL}"
                   damping="2"/>
            <geom name="pad_left" type="box" size="{px} {py} {pz}" material="pad"
                  mass="0.04" condim="4" friction="{PAD_FRICTION}"/>
          </body>
          <body name="finger_right" pos="{FINGER_TRAVEL + px} 0 0" gravcomp="1">
            <joint name="finger_right" type="slide" axis="-1 0 0" range="0 {FINGER_TRAVEL}"
                   damping="2"/>
            <geom name="pad_right" type="box" size="{px} {py} {pz}" material="pad"
                  mass="0.04" condim="4" friction="{PAD_FRICTION}"/>
          </body>
        </body>
      </body>
    </body>"""


def _objects(scene: SceneConfig) -> str:
    out = []
    for o in scene.objects:
        r, g, b, a = o.colour()
        h = o.size / 2
        out.append(f"""
    <body name="{o.name}" pos="0 0 {scene.table_z + h}">
      <freejoint name="{o.name}_joint"/>
      <geom name="{o.name}" type="box" size="{h} {h} {h}" mass="{o.mass}"
            rgba="{r} {g} {b} {a}" condim="4" friction="{BLOCK_FRICTION}"/>
    </body>""")
    return "".join(out)


def _actuators() -> str:
    # Velocity servos: force = kv * (command - joint velocity); implicitfast integrates
    # the damping implicitly, so a stiff kv stays stable at the 2 ms step.
    return f"""
    <velocity name="vel_x" joint="arm_x" kv="400" forcerange="-150 150"/>
    <velocity name="vel_y" joint="arm_y" kv="300" forcerange="-150 150"/>
    <velocity name="vel_z" joint="arm_z" kv="200" forcerange="-150 150"/>
    <position name="grip_left" joint="finger_left" kp="300" ctrlrange="0 {FINGER_TRAVEL}"
              forcerange="-12 12"/>
    <position name="grip_right" joint="finger_right" kp="300" ctrlrange="0 {FINGER_TRAVEL}"
              forcerange="-12 12"/>"""


def _sensors(scene: SceneConfig) -> str:
    # One contact sensor per (object, finger pad): the observation's contact flags are then
    # a plain slice of sensordata, computed in C during the step.
    return "".join(
        f"""
    <contact name="touch_{o.name}_{side}" geom1="pad_{side}" geom2="{o.name}" data="found"
             num="1"/>"""
        for o in scene.objects
        for side in ("left", "right")
    )


def scene_xml(scene: SceneConfig) -> str:
    """The whole MJCF document for ``scene``."""
    return f"""<mujoco model="experimenter_blocks">
  <compiler angle="radian" autolimits="true"/>
  <option timestep="{TIMESTEP}" integrator="implicitfast" cone="elliptic" impratio="10"/>
  <visual>
    <global offwidth="640" offheight="480"/>
    <quality shadowsize="1024"/>
  </visual>
  <asset>
    <texture name="grid" type="2d" builtin="checker" rgb1="0.92 0.92 0.92"
             rgb2="0.85 0.85 0.85" width="256" height="256"/>
    <material name="table" texture="grid" texrepeat="8 8" rgba="0.9 0.88 0.82 1"/>
    <material name="floor" rgba="0.3 0.32 0.35 1"/>
    <material name="metal" rgba="0.55 0.57 0.6 1"/>
    <material name="pad" rgba="0.2 0.2 0.22 1"/>
  </asset>
  <worldbody>
    <light name="key" pos="0.3 -0.6 1.2" dir="-0.2 0.5 -1" diffuse="0.8 0.8 0.8"/>
    <light name="fill" pos="-0.5 0.5 1.5" dir="0.3 -0.3 -1" diffuse="0.35 0.35 0.35"
           castshadow="false"/>
    <camera name="front" pos="0 -0.7 0.55" xyaxes="1 0 0 0 0.541 0.841"/>
    <camera name="side" pos="0.85 0 0.5" xyaxes="0 1 0 -0.5 0 0.866"/>
    {_table(scene)}
    {_robot()}
    {_objects(scene)}
  </worldbody>
  <actuator>{_actuators()}
  </actuator>
  <sensor>{_sensors(scene)}
  </sensor>
</mujoco>
"""
