import asyncio
def test_smoke(mosquitto, mosquitto_auth_tls):
    print(mosquitto.port, mosquitto_auth_tls.port, mosquitto_auth_tls.tls_port)
    print(mosquitto_auth_tls.broker.log())
