"""Built-in node types, one module per family; importing the package registers them."""

from pixelmill.nodes import audio as audio
from pixelmill.nodes import core as core
from pixelmill.nodes import image_compose as image_compose
from pixelmill.nodes import image_diffusers as image_diffusers
from pixelmill.nodes import image_edit as image_edit
from pixelmill.nodes import image_filters as image_filters
from pixelmill.nodes import image_generate as image_generate
from pixelmill.nodes import image_geometry as image_geometry
from pixelmill.nodes import image_io as image_io
from pixelmill.nodes import infographic as infographic
from pixelmill.nodes import numbers as numbers
from pixelmill.nodes import strings as strings
from pixelmill.nodes import text as text
from pixelmill.nodes import video as video
from pixelmill.nodes import video_generate as video_generate
