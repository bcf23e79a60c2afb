"""Support messages of a smart-thermostat company and the queue each belongs to.

Hand-written; ``scripts/make_datasets.py`` turns them into ``stacks/datasets/support-tickets.jsonl``.
Categories: billing, account, bug, shipping, refund, feature-request.
"""

from __future__ import annotations

TICKETS: dict[str, list[str]] = {
    "billing": [
        "I was charged twice for my Premium plan this month. Both charges show $9.99 on March 3.",
        "Why did my subscription price go up from $4.99 to $6.99? I never got an email about it.",
        "Can I switch from monthly to annual billing and get the discount applied right away?",
        "My card expired and now the app says my payment failed. Where do I update the card?",
        "The invoice for February lists the wrong company name. We need it corrected for our "
        "accounting department.",
        "I used the promo code SPRING20 at checkout but the discount was not applied to my "
        "first bill.",
        "Please send me a VAT invoice for the last three months, our tax number is on the account.",
        "There is a charge from you on my bank statement that I don't recognise. I don't think I "
        "have an account.",
        "I downgraded to the free plan last week but I was still billed for Premium today.",
        "Do you accept PayPal? My credit card keeps getting declined on your checkout page.",
        "We have 14 thermostats across our offices. Can we get one consolidated bill instead of "
        "14 separate ones?",
        "My bank flagged your charge as suspicious and blocked it. Will my service stop now?",
        "How do I download receipts for my subscription? I need them for an expense report.",
        "The trial was supposed to be free for 30 days but I was charged on day 12.",
        "I'm a student, is there a discounted rate for the energy reports plan?",
        "Your website says the annual plan is $59 but I was charged $71. What is the extra $12?",
        "I want to change the billing email to finance@ourcompany.com so invoices go there.",
        "Could you split my payment into two cards? One card doesn't have enough limit.",
        "My account shows an outstanding balance of $19.98 but I paid everything already.",
        "Is sales tax included in the listed subscription price or added at checkout?",
        "The auto-renewal happened even though I turned it off in settings two weeks ago.",
    ],
    "account": [
        "I can't log in. The app says my password is wrong but I just reset it ten minutes ago.",
        "I never received the verification email after signing up. I checked the spam folder too.",
        "How do I change the email address on my account? I no longer use my old work email.",
        "My account got locked after too many login attempts. How long until I can try again?",
        "I lost my phone with the two-factor authentication app. How can I get back into my "
        "account?",
        "Someone else logged into my account from another country. I think I was hacked.",
        "How can I add my partner to our home so she can control the thermostat from her phone?",
        "Please delete my account and all the data you have about me.",
        "I have two accounts by mistake, one with Google sign-in and one with email. Can you "
        "merge them?",
        "The password reset link says it has expired every time I click it.",
        "My landlord set up the thermostat under his account. How do I transfer it to mine?",
        "I want to download a copy of all my personal data. Where is the export option?",
        "Sign in with Apple stopped working after I changed my Apple ID email.",
        "My son removed me as the home owner by accident. Now I can't change any settings.",
        "How do I turn on two-factor authentication? I can't find it in the security settings.",
        "The app keeps logging me out every few hours and I have to enter my password again.",
        "I moved house. How do I remove the old address and devices from my account?",
        "Can I change my username? It still shows my maiden name.",
        "I'm getting 'account not found' when I try to log in, but I've used the app for years.",
        "How do I give our cleaning company temporary access to the hallway thermostat?",
        "After updating my phone, the app asks me to sign up again instead of logging in.",
    ],
    "bug": [
        "The thermostat shows 72 degrees but the room is clearly colder, my separate thermometer "
        "says 65.",
        "Since the last app update the schedule screen is blank. I can't see or edit my "
        "schedule.",
        "The app crashes every time I open the energy report on my Android phone.",
        "My thermostat keeps disconnecting from Wi-Fi every night around 2 am and comes back in "
        "the morning.",
        "The heating turns on at 5 am even though my schedule says 6:30 am on weekdays.",
        "Geofencing doesn't work anymore. The house doesn't switch to Away when we all leave.",
        "The display on the thermostat is frozen on the logo after the firmware update.",
        "Push notifications for filter reminders arrive five or six times in a row.",
        "The humidity reading has been stuck at 0% for three days.",
        "When I change the temperature in the app it jumps back to the old value after a few "
        "seconds.",
        "The widget on my iPhone home screen shows the temperature in Celsius even though I "
        "set Fahrenheit.",
        "Voice control through the smart speaker says the device is unresponsive, but the app "
        "works fine.",
        "The fan runs constantly even when it's set to Auto and the system is idle.",
        "My energy report says I used 0 kWh last month, which is obviously wrong.",
        "The pairing process fails at the last step with error code E42 every time.",
        "The app shows the wrong time zone for my home, so all the schedules are an hour off.",
        "Eco mode turns itself off every morning and I have to enable it again.",
        "Two of my room sensors show as offline although their batteries are new.",
        "The screen brightness setting resets to maximum after every power cut.",
        "The web dashboard doesn't load in Firefox, it just shows a spinning wheel.",
        "The thermostat clicks on and off every couple of minutes, short cycling the furnace.",
    ],
    "shipping": [
        "My order was supposed to arrive on Monday and the tracking hasn't updated in five days.",
        "The tracking page says delivered but there's no package at my door or with my "
        "neighbours.",
        "Can I change the delivery address for order 48213? I entered my old apartment by "
        "mistake.",
        "Do you ship to Canada? The checkout doesn't list it as a country option.",
        "The box arrived damaged and the thermostat screen is cracked.",
        "I ordered two room sensors but only one was in the package.",
        "How long does standard shipping take to Texas? I need it installed before the weekend.",
        "Is it possible to upgrade my order to express delivery after I already paid?",
        "The courier left a note that they need a signature. Can I have it left at the door?",
        "My order confirmation says shipped but the tracking number is not valid on the "
        "carrier's website.",
        "I received someone else's order, a smoke detector, instead of my thermostat.",
        "Can I pick up my order from a store instead of having it shipped?",
        "The package has been stuck in customs for two weeks. Do I need to pay import duties?",
        "I placed the order on Friday and it still hasn't shipped. When will it go out?",
        "Can you ship the replacement unit to my office address instead of my home?",
        "The delivery was attempted while I was at work. How do I reschedule it?",
        "My order shows as split into two shipments. Why did only half of it arrive?",
        "Is there a way to combine my two separate orders into one shipment?",
        "The wall plate I ordered as an accessory never arrived, though the thermostat did.",
        "Do you deliver to PO boxes? I live in a rural area without street delivery.",
        "The carrier says the address is incomplete. Which details do you need from me?",
    ],
    "refund": [
        "I returned the thermostat two weeks ago and still haven't received my refund.",
        "The device is not compatible with my heating system. How do I return it for a refund?",
        "I was charged for a product I cancelled before it shipped. Please refund me.",
        "Can I get a refund for the unused months of my annual plan if I cancel now?",
        "I bought the thermostat at a store 20 days ago. Can I return it to you directly?",
        "My refund was issued to a card that is now closed. How will I get the money?",
        "The return label you emailed doesn't work, the carrier says it's invalid.",
        "I only received a partial refund. The shipping cost wasn't included.",
        "The thermostat died after 3 months. Do I get a replacement or my money back?",
        "You charged a restocking fee on my return, but your site says returns are free.",
        "I want to return the room sensors, the thermostat alone is enough for my apartment.",
        "How long does it take for a refund to show up on my credit card?",
        "I returned the wrong item by mistake. Can I still get the refund for the right one?",
        "The return window was 30 days and I'm on day 33 because I was in hospital. Can you make "
        "an exception?",
        "I got a refund confirmation email but the amount is $40 less than what I paid.",
        "Please refund the express shipping fee, the order arrived three days late.",
        "I opened the box but never installed it. Is it still eligible for a full refund?",
        "My installer damaged the unit during setup. Does the warranty cover a refund?",
        "Can I exchange the white model for the black one instead of getting a refund?",
        "The refund went to my store credit instead of my original payment method.",
        "I cancelled my Premium subscription on day two of the billing period. Can I get that "
        "month back?",
    ],
    "feature-request": [
        "It would be great if the app had a dark mode, the bright screen is annoying at night.",
        "Please add support for Apple HomeKit, that's the only thing keeping me from buying "
        "more.",
        "Could you let us set different schedules for school holidays without editing every "
        "day?",
        "I'd love an option to export the energy history as a CSV file.",
        "Can you add a vacation mode that starts and ends automatically on given dates?",
        "Please support more than 10 room sensors per home, our house has 14 rooms.",
        "It would help to get a notification when the temperature drops below a threshold, "
        "for our pipes.",
        "Could the thermostat show the outdoor temperature on its display?",
        "Please allow two different temperature units for two people in the same home.",
        "An API for developers would be amazing, I want to connect it to my home automation "
        "server.",
        "Add a child lock so my kids can't change the temperature on the device itself.",
        "It would be nice to see how much money the eco mode saved me each month.",
        "Please bring the Apple Watch app back, I used it every day.",
        "Could you support time-of-use electricity rates so heating shifts to cheaper hours?",
        "I wish I could rename the modes, 'Comfort' doesn't mean anything to my parents.",
        "Please add Spanish to the thermostat display languages.",
        "Could we have a shared schedule template to copy to all our office thermostats?",
        "Let me set a maximum temperature limit for guests in our holiday rental.",
        "Please add an IFTTT integration so the heating can react to my calendar.",
        "Could the app warn me when the furnace runs much longer than usual? It could mean a "
        "problem.",
        "A tablet layout for the iPad app would make the wall-mounted iPad much more useful.",
    ],
}
