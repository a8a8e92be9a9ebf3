//! QR code images (SPEC section 7): parameters, SVG and PNG rendering.
