"""The kernel's websocket in JupyterLab with Nagle's algorithm off, so each widget update leaves at once.

Tornado leaves Nagle on for websockets. A control change brings several small messages from the kernel
(busy, the echo of the value, the new state, idle): the first goes out, the next wait for its TCP
acknowledgement, which the browser may delay by 40 ms. That wait was half of many key presses.
`make lab`, the browser tests and the browser benchmark start the lab with `SETTING`.
"""

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

SETTING = "--ServerApp.kernel_websocket_connection_class=rnn_course.lab_socket.NoDelayConnection"


class NoDelayConnection(ZMQChannelsWebsocketConnection):
    """Jupyter Server's own kernel connection, with TCP_NODELAY set on the websocket when it opens."""

    def connect(self):
        self.websocket_handler.set_nodelay(True)
        return super().connect()
