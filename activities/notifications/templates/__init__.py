"""The notification templates, packaged as data: ``<template>[.<role>].txt`` (see ``rendering``)."""
